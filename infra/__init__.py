"""The vmp3 CDK app: one construct per concern, wired by ``Vmp3Stack``."""
