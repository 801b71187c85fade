"""Storage adapters: the only code that imports chromadb and sqlalchemy."""
