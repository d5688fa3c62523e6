int adashta_placeholder_cli_main_cpp = 0;
