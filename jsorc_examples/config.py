"""Action configs for the example packages, in Jaseci's ACTION_CONFIGS form."""

ACTION_CONFIGS = {
    "text_tools": {
        "module": "jsorc_examples.text_tools",
        "loaded_module": "jsorc_examples.text_tools",
        "local_mem_requirement": 5,
        "remote_template": "action-server.yaml",
    },
    "vectors": {
        "module": "jsorc_examples.vectors",
        "loaded_module": "jsorc_examples.vectors",
        "local_mem_requirement": 40,
        "remote_template": "action-server.yaml",
    },
    "classifier": {
        "module": "jsorc_examples.classifier",
        "loaded_module": "jsorc_examples.classifier",
        "local_mem_requirement": 120,
        "remote_template": "action-server.yaml",
    },
}
