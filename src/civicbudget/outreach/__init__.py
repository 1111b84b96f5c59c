"""Outreach: publicity kits (posters, leaflets, display boards, texts) and where participants came from."""
