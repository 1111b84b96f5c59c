"""Places: district (区) -> street (街道) -> community (社区), and district departments (职能单位)."""
