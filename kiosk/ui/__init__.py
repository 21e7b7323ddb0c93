"""Qt layer: shows the session's state and forwards input. No session logic lives here."""
