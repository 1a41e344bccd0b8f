"""Views: parse the request, call the domain, answer. No SQL and no sanitising here."""
