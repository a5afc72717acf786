"""The service core: what the functions do, written once and called by thin handlers."""
