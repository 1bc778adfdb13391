"""One router per area; each route parses, makes one service call, and shapes the reply."""
