"""Shim of the lfx package (Langflow's core): env.py and four revisions log through lfx.log.logger."""
