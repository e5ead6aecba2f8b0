"""The business side: owners, administrators and team members, their login, and the
YCLIENTS/Altegio B2B subset (records, team, catalog, schedules, clients)."""
