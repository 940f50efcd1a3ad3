start:
	@echo starting api $(NEW_VERSION)

stop:
	@echo stopping api

restart: stop start

reload:
	@echo reloading api

status:
