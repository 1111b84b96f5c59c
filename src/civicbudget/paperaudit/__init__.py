"""The statistical audit of a scope's paper count, run by officers and open to everyone.

The mathematics is the pure package :mod:`civicbudget.rla`; this app keeps the audit's
seed, manifest, sample and comparisons, and shows them in the back-office and in public.
"""
