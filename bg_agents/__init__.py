"""bg-agents: autonomous background agents for a finance SaaS, orchestrated by Dagster."""
