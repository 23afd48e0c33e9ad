module github.com/xiaoyi-disputes/disputes/intake

go 1.26.0
