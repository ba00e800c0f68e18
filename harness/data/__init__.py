"""Preference data: the synthetic verifiable task and loaders for real data sets, all producing
TRL's conversational rows (prompt / chosen / rejected as lists of {role, content})."""
