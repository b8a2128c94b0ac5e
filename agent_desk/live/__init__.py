"""The live model behind the wallboard, the supervisor's live view and agent screen pops."""
