"""Configurations with history for the history, recovery and durability tests."""
from conftest import base_config


def namespace(name, **options):
    return {"name": name, "history_size": 1000, "history_ttl": "300s", "force_recovery": True,
            "allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True,
            "allow_history_for_client": True, "allow_history_for_anonymous": True, **options}


def history_config(workdir, *namespaces, client=None):
    """`workdir` holds the durable log (`data_dir`): never the repository's ./data."""
    config = base_config(client={"recovery_max_publication_limit": 100000, **(client or {})})
    config["data_dir"] = str(workdir / "data")
    config["channel"]["namespaces"] = list(namespaces)
    return config
