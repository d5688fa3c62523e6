int adashta_placeholder_mesh_src_codec_cpp = 0;
