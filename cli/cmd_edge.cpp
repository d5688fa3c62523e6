int adashta_placeholder_cli_cmd_edge_cpp = 0;
