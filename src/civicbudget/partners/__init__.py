"""Social organisations (社会组织): registration, approval, orders on service projects (三单)."""
