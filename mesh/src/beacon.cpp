int adashta_placeholder_mesh_src_beacon_cpp = 0;
