"""Training pipeline for the kiosk's hand-gesture classifier (see README.md)."""
