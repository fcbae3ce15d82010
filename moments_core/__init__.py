"""Moments: agents whose observations are written in the Moment Definition Language."""

__version__ = "0.1.0"
