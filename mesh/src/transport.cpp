int adashta_placeholder_mesh_src_transport_cpp = 0;
