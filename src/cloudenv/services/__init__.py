"""Business rules. The API, CLI, agent, MCP server and AI agent all call these, so each
rule is written once. Services never commit: the caller's unit of work does.
"""
