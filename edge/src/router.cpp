int adashta_placeholder_edge_src_router_cpp = 0;
