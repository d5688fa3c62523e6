int adashta_placeholder_edge_src_http_server_cpp = 0;
