"""The call flows: greeting and menu, report a problem, progress, leave a message, survey."""
