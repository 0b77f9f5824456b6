"""Coach reports: what they say (content), their charts and keyframes, and the HTML rendering."""
