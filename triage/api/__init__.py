"""HTTP entry point: the Litestar app factory and its controllers."""
