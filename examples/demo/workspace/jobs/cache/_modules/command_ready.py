import maand

print(f"cache on {maand.allocation_ip()} is ready")
