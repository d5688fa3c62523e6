// adashta.js placeholder
