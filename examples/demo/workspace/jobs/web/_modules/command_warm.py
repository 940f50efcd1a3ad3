import maand

print(f"warming web on {maand.allocation_ip()}")
