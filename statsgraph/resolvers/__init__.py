"""Role-scoped resolvers, per-request dataloaders and the field cache."""
