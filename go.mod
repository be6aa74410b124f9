module github.com/tsingma/tsingma

go 1.26.8
