module github.com/xiaoyi-disputes/disputes/meeting

go 1.26.0
