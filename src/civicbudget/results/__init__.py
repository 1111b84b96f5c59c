"""After the count: publication with a notice period, objections, and a reply to every proposer."""
