"""From projects to a ballot: screening, department review, costing, roundtables, promotion, bodies."""
