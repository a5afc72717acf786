"""vmp3: turn videos into well-tagged MP3s, on AWS or on a laptop."""

__version__ = "0.1.0"
