"""`signalbox check`: offline plan analysis. (Placeholder until the plan analysis lands.)"""
