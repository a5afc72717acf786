"""The conversion core: probe, plan, run FFmpeg, validate. Used by every function and the CLI."""
