int adashta_placeholder_cli_args_cpp = 0;
