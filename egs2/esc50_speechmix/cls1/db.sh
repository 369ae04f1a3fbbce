# Where ESC-50 lives. Empty: local/data.sh downloads it into downloads/ESC-50
# (github.com/karolpiczak/ESC-50; CC BY-NC 3.0, ESC-10 subset CC BY).
ESC50=${ESC50:-}
