"""Inventory's rules: reading GS1 barcodes and allocating kits from lots. No framework imports:
FastAPI, SQLAlchemy and aio-pika stay outside this package."""
