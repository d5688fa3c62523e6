int adashta_placeholder_cli_cmd_node_tools_cpp = 0;
