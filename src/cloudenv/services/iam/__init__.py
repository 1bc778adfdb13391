"""Identity and access management: policies and how they are evaluated, users, API
tokens, second factors, lockouts and quotas. ``services.access`` is the one point that
asks these questions; everything else asks it."""
