import maand

print(f"schema ready on {maand.allocation_ip()}")
