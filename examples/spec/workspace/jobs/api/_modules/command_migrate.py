import maand

print(f"migrating api on {maand.allocation_ip()} ({maand.command_event()})")
