"""Proposals (提议) from every channel and the projects (项目) they are merged into."""
