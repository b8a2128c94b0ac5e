"""Authentication and authorisation: password hashes, tokens, principals, scopes, login throttling."""
