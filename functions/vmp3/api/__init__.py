"""The HTTP functions as FastAPI app factories; Mangum wraps them for Lambda."""
